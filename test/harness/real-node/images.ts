// Images for the real node, without a registry or a Docker engine:
// - the sandbox (pause) image: pause.c built static, FROM scratch, with
//   buildah in a storage of the run's own; cached by the source's hash;
// - the product image, its crio variant and upstream's peer image: built by
//   test/tools/build-images.sh (the image engineer's builder), which prints
//   `image <name> <archive> <bytes>` lines. REAL_NODE_IMAGE_LINES names a
//   file of such lines instead (images built elsewhere).
// Archives are imported into the node's containerd (namespace k8s.io).
import { execa } from 'execa';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../components.js';

export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
export const PRODUCT_IMAGE = 'localhost/multus-entrypoint:dev';
/** The image upstream's deployments/multus-daemonset.yml names. */
export const UPSTREAM_IMAGE = 'ghcr.io/k8snetworkplumbingwg/multus-cni:snapshot';

const CACHE = process.env.MULTUS_ENTRYPOINT_CACHE ?? path.join(os.homedir(), '.cache/multus-entrypoint');
const PAUSE_SOURCE = path.join(REPO_ROOT, 'test/harness/real-node/pause.c');

export interface BuiltImage {
  name: string;
  archive: string;
  bytes: number;
}

function buildah(storage: string): (args: string[]) => Promise<string> {
  const base = ['--root', path.join(storage, 'root'), '--runroot', path.join(storage, 'run'), '--storage-driver', 'vfs'];
  return async (args) => (await execa('buildah', [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })).stdout.trim();
}

/** The pause image archive, built when the cache has none for this pause.c. */
export async function pauseImage(runDir: string): Promise<BuiltImage> {
  const hash = crypto.createHash('sha256').update(fs.readFileSync(PAUSE_SOURCE)).digest('hex').slice(0, 12);
  const archive = path.join(CACHE, 'node-e2e', `pause-${hash}.tar`);
  if (!fs.existsSync(archive)) {
    const work = fs.mkdtempSync(path.join(runDir, 'pause-build-'));
    const bin = path.join(work, 'pause');
    await execa('gcc', ['-static', '-Os', '-s', '-o', bin, PAUSE_SOURCE]);
    const b = buildah(path.join(work, 'storage'));
    const ctr = await b(['from', 'scratch']);
    await b(['copy', ctr, bin, '/pause']);
    await b(['config', '--entrypoint', '["/pause"]', ctr]);
    await b(['commit', '-q', ctr, PAUSE_IMAGE]);
    fs.mkdirSync(path.dirname(archive), { recursive: true });
    const tmp = `${archive}.tmp-${process.pid}`;
    fs.rmSync(tmp, { force: true });
    await b(['push', '-q', PAUSE_IMAGE, `docker-archive:${tmp}:${PAUSE_IMAGE}`]);
    fs.renameSync(tmp, archive);
    // vfs layers are plain directories; the storage goes with the work dir.
    await b(['rm', '-a']).catch(() => '');
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { name: PAUSE_IMAGE, archive, bytes: fs.statSync(archive).size };
}

function parseImageLines(text: string): BuiltImage[] {
  const out: BuiltImage[] = [];
  for (const line of text.split('\n')) {
    const m = /^image (\S+) (\S+) (\d+)$/.exec(line.trim());
    if (m && m[1] && m[2] && m[3]) out.push({ name: m[1], archive: m[2], bytes: Number(m[3]) });
  }
  return out;
}

/** The product and peer images, from build-images.sh (or REAL_NODE_IMAGE_LINES). */
export async function projectImages(): Promise<BuiltImage[]> {
  const linesFile = process.env.REAL_NODE_IMAGE_LINES;
  if (linesFile) return parseImageLines(fs.readFileSync(linesFile, 'utf8'));
  const script = path.join(REPO_ROOT, 'test/tools/build-images.sh');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: the image builder is needed for the product and upstream images (or set REAL_NODE_IMAGE_LINES)`);
  const { stdout } = await execa('bash', [script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return parseImageLines(stdout);
}

export function findImage(images: BuiltImage[], name: string): BuiltImage {
  const img = images.find((i) => i.name === name);
  if (!img) throw new Error(`image ${name} was not built (have: ${images.map((i) => i.name).join(', ') || 'none'})`);
  return img;
}
