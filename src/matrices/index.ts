// The matrices module: filled in by its issue.
export {};
