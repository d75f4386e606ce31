// The settings module: filled in by its issue.
export {};
