import type { z } from 'zod';

export interface FieldIssue {
  /** `preprocess.buckets[0][1]`; empty for the root. */
  path: string;
  message: string;
}

/** Zod issues as `{ path, message }` with paths written the way a reader types them. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, ''),
    message: issue.message,
  }));
}

/** `invalid <where>:` followed by one indented `path: message` line per issue. */
export function describeIssues(where: string, issues: FieldIssue[]): string {
  const lines = issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n');
  return `invalid ${where}:\n${lines}`;
}
