import cluster from 'node:cluster'
import t from 'tap'
import { clusterSchedulingPolicy } from '../../src/cluster/cluster-process.js'

t.test('workers accept their connections themselves unless NODE_CLUSTER_SCHED_POLICY=rr', async t => {
  t.equal(clusterSchedulingPolicy({}), cluster.SCHED_NONE)
  t.equal(clusterSchedulingPolicy({ NODE_CLUSTER_SCHED_POLICY: 'none' }), cluster.SCHED_NONE)
  t.equal(clusterSchedulingPolicy({ NODE_CLUSTER_SCHED_POLICY: 'rr' }), cluster.SCHED_RR)
  t.not(cluster.SCHED_NONE, cluster.SCHED_RR)
})
