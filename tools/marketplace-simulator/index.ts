/**
 * A local stand-in for the marketplaces the push worker talks to. See server.ts for the controls and
 * each marketplace's file for what it speaks and enforces.
 */
export { startMarketplaceSimulator, type MarketplaceSimulator, type MarketplaceSimulatorOptions } from './server.js';
export { TOLERANCE_MS, tokenFor, type CallCounts, type EndpointClass, type Fault, type Kind, type KindName, type Violation } from './state.js';
export { awsCredentialsFor } from './sqs.js';
