import { z } from 'zod';
import { parseBytes } from '../../common/bytes.js';
import { parseDuration } from '../../common/duration.js';

/** The value types the scheduler's configuration fields are made of (schema.ts). */

/** A number, or a string `parse` turns into one; what `parse` throws becomes the field's issue. */
const parsedNumber = (parse: (value: string | number) => number) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** `24GiB`, `9830MiB`, `512M` or a byte count → bytes. */
export const Size = parsedNumber(parseBytes);

export const Duration = parsedNumber(parseDuration);

export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a DNS label: lowercase letters, digits, "-"');
