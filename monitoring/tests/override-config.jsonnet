// A _config override that the tests render beside the defaults: servers
// selected by another label, and clusters told apart by "cluster" rather than
// by job. The promtool unit tests run against it with their series' job
// label renamed to cluster.
{
  consulStatusSelector: 'cluster="consul"',
  clusterLabel: 'cluster',
}
