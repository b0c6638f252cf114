import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file of the viommu-spec package, found from this module whether it runs from source or from dist/. */
export function packageFile(relativePath: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the viommu-spec package root for ${relativePath}`);
    dir = up;
  }
  return join(dir, relativePath);
}
