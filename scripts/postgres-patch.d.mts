// Types of scripts/postgres-patch.mjs (imported by tsup.config.ts, vitest.config.ts and the tests).
export declare const PATCH_MARKER: string;
export declare const PATCHED_VERSIONS: readonly string[];
export declare function driverFile(path: string): 'connection' | 'index' | undefined;
export declare function patchPostgres(path: string, code: string): string;
export declare function esbuildPostgresPatch(): {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: esbuild's PluginBuild, not a dependency of this file
  setup(build: any): void;
};
export declare function vitePostgresPatch(): {
  name: string;
  enforce: 'pre';
  transform(code: string, id: string): { code: string; map: null } | null;
};
