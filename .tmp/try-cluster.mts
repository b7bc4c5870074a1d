import { PrivateRedisCluster } from '../test/private-redis-cluster.js';
const t=Date.now();
const c = await PrivateRedisCluster.create();
console.log('up', c.nodes, Date.now()-t, 'ms');
await c.stop();
console.log('stopped');
