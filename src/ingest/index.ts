// The ingest module: filled in by its issue.
export {};
