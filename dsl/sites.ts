import { FAILURE_POINT_NAMES } from '../runtime/fault/points.js';
import { portedFrames } from '../runtime/linux/ported.js';
import '../runtime/vendors/index.js';

/**
 * The names a failure-point site is built from: ported function frames and failure points, both from the
 * runtime's registries (the vendors import every ported module, which declares its frames). A site pattern
 * naming anything else can never match, so it is a spec error with a suggestion.
 */
let known: Set<string> | undefined;

function names(): Set<string> {
  known ??= new Set<string>([...FAILURE_POINT_NAMES, ...portedFrames().map((f) => f.name)]);
  return known;
}

/** The first literal segment of a site pattern that names no frame or failure point, if any. */
export function unknownSiteSegment(pattern: string): string | undefined {
  for (const seg of pattern.split('/')) {
    if (seg.includes('*')) continue;
    const name = seg.replace(/\[\d+\]$/, '');
    if (!names().has(name)) return seg;
  }
  return undefined;
}

export function ALL_SITE_NAMES(): readonly string[] {
  return [...names()];
}
