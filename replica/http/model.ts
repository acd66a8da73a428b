import { GpumuxError } from '../../common/errors.js';
import type { Manifest } from '../../models/manifest/schema.js';

/**
 * A replica serves exactly one model version. Requests name it in the path; anything else is a 404 with a
 * code that says which part did not match.
 */
export function assertServedModel(manifest: Manifest, name: string, version?: string): void {
  if (name !== manifest.name) {
    throw new GpumuxError(
      'MODEL_NOT_FOUND',
      `model "${name}" is not served here (this replica serves "${manifest.name}")`,
    );
  }
  if (version !== undefined && version !== manifest.version) {
    throw new GpumuxError(
      'VERSION_NOT_FOUND',
      `model "${name}" has no version "${version}" here (this replica serves version "${manifest.version}")`,
    );
  }
}
