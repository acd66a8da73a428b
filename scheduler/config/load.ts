import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { describeIssues, fieldIssues } from '../../common/zod-issues.js';
import { SchedulerConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validates a parsed YAML/JSON object; the error names every offending field. */
export function parseSchedulerConfig(value: unknown, where = 'scheduler config'): SchedulerConfig {
  const result = SchedulerConfig.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(describeIssues(where, fieldIssues(result.error)));
}

/** Reads and validates a scheduler YAML file. */
export async function loadSchedulerConfig(file: string): Promise<SchedulerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read scheduler config ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text) as unknown;
  } catch (err) {
    throw new ConfigError(`scheduler config ${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseSchedulerConfig(value, file);
}
