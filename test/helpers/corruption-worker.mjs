// Bootstrap for the corruption worker: worker threads do not inherit the parent's `--import tsx` loader hooks on
// Node 20, so register tsx here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./corruption-worker.ts');
