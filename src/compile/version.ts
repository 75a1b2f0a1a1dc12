import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Pkg {
  name?: string;
  version?: string;
  homepage?: string;
}
let cached: Pkg | undefined;

/** meshcap's package.json, found by walking up from this file (src/ or dist/src/). */
function pkg(): Pkg {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const j = JSON.parse(readFileSync(p, 'utf8')) as Pkg;
      if (j.name === 'meshcap') return (cached = j);
    }
    dir = dirname(dir);
  }
  return (cached = {});
}

/** The version in package.json. */
export function version(): string {
  return pkg().version ?? '0.0.0';
}

/**
 * Where the project's documentation is published: package.json `homepage` (a GitHub
 * repository page, its `#readme` anchor dropped) + `/blob/main/docs`. SARIF's helpUri,
 * `explain` and the configuration schema's $id point under it; `meshcap lint --docs-url`
 * or `docsUrl` in .meshcap.yaml replace it (a fork, a mirror, an internal copy).
 */
export function docsBase(): string {
  const home = (pkg().homepage ?? 'https://github.com/meshcap/meshcap').replace(/#.*$/, '').replace(/\/$/, '');
  return `${home}/blob/main/docs`;
}
