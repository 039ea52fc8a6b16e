/**
 * `net-tx`: transmit queueing latency (DESIGN §5): `net_dev_queue` (skbaddr) -> `net_dev_xmit` (skbaddr).
 */
import { netAnalysis } from './net.ts';

export const netTx = netAnalysis(
  'net-tx',
  'packet transmit: queued to the device -> handed to the driver (net_dev_queue -> net_dev_xmit)',
  'net:net_dev_queue',
  'net:net_dev_xmit',
);
