// See load-ts.js for why this shim is JavaScript.
import { lifecycle } from './load-ts.js';

export default async function globalSetup() {
  await (await lifecycle()).setupRun();
}
