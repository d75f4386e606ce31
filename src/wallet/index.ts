// The wallet module: filled in by its issue.
export {};
