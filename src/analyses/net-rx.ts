/**
 * `net-rx`: receive backlog latency (DESIGN §5): `netif_rx` (skbaddr) -> `netif_receive_skb` (skbaddr).
 */
import { netAnalysis } from './net.ts';

export const netRx = netAnalysis(
  'net-rx',
  'packet receive: queued by netif_rx -> processed by netif_receive_skb',
  'net:netif_rx',
  'net:netif_receive_skb',
);
