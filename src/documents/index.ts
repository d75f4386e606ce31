// The documents module: filled in by its issue.
export {};
