/** Which code the `letterpress` command runs (see choose-entry.js). */
export declare const SOURCE_FOLDERS: string[];
/** Where `npm run build` records when it started. */
export declare const BUILD_INFO: string;
/** Decides, for the repository at `root`, whether to run `dist` or `sources`, and says why. */
export declare function chooseEntry(root: string): { kind: 'dist' | 'sources'; reason: string };
/** Loads the CLI's `runCli` from the chosen code. */
export declare function loadCli(kind: 'dist' | 'sources'): Promise<(argv: string[]) => Promise<number>>;
