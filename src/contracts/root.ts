/**
 * The root of the node's supervision tree (`/root`, src/tree.ts builds it): every well-known
 * actor named in these contracts is one of its children, in the slots of src/tree.ts.
 */
import { actorName, type SupMsg } from '../../supervisors/index.js';

export const ROOT = actorName<SupMsg>('/root');
