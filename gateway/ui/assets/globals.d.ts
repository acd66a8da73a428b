// What the server prepends to app.js (gateway/ui/assets/app-script.ts): common/bytes.ts's formatter.
declare function formatBytes(bytes: number): string;
