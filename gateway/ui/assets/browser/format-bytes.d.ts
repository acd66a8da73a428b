// /ui/format-bytes.js is common/bytes.ts's formatter, served by gateway/ui/assets/browser-modules.ts.
export declare function formatBytes(bytes: number): string;
