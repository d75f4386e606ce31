// The market module: filled in by its issue.
export {};
