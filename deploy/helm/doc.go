// Package helm holds shipgate's own Helm chart (deploy/helm/shipgate) and its tests, which lint and render
// the chart with the Helm SDK, without a helm binary or a cluster.
package helm
