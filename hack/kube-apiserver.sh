#!/usr/bin/env bash
# Builds kube-apiserver (or, with KUBE_CMD=kube-controller-manager, another command of k8s.io/kubernetes) for
# the Helm executor's tests, once, into a cache folder that git ignores.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod points its staging modules (k8s.io/api,
# k8s.io/apiserver, …) at ./staging with `replace` directives, which only hold inside that repository. A
# throwaway module that requires k8s.io/kubernetes and replaces each staging module (listed as v0.0.0 in
# kubernetes' go.mod) with its published v0.X.Y twin builds cmd/$KUBE_CMD from the Go module proxy.
#
# Usage: [KUBE_CMD=kube-controller-manager] hack/kube-apiserver.sh [OUT_DIR]   (default .cache/kube);
# prints the binary's path.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.31.4}
KUBE_CMD=${KUBE_CMD:-kube-apiserver}
case $KUBE_CMD in
kube-apiserver | kube-controller-manager | kube-scheduler) ;;
*)
	echo "KUBE_CMD=$KUBE_CMD: want kube-apiserver, kube-controller-manager or kube-scheduler" >&2
	exit 2
	;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.cache/kube}
bin=$out/$KUBE_CMD-$KUBE_VERSION

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$out"
work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
staging=v0.${KUBE_VERSION#v1.}

cd "$work"
cat >go.mod <<MOD
module shipgate.local/$KUBE_CMD-build

go 1.22
MOD
echo "building $KUBE_CMD $KUBE_VERSION into $bin (a few minutes, once)" >&2
GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >module.json
gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p' module.json)
{
	echo "require k8s.io/kubernetes $KUBE_VERSION"
	# Every staging module kubernetes requires at v0.0.0 is replaced by its published release.
	grep -E '^[[:space:]]+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
} >>go.mod
cat >main.go <<GO
package main

import _ "k8s.io/kubernetes/cmd/$KUBE_CMD"
GO
# The command's main package is what we build; main.go only keeps `go mod tidy` from pruning it.
GOFLAGS=-mod=mod go mod tidy >&2 2>/dev/null || GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/$KUBE_CMD@$KUBE_VERSION" >&2
# Stamp the version, as kubernetes' own build does: clients (Helm's capabilities, a chart's kubeVersion)
# read it from /version, and an unstamped build says v0.0.0-master.
minor=${KUBE_VERSION#v1.}
minor=${minor%%.*}
vpkg=k8s.io/component-base/version
ldflags="-s -w -X $vpkg.gitVersion=$KUBE_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" "k8s.io/kubernetes/cmd/$KUBE_CMD"
mv "$bin.tmp" "$bin"
echo "$bin"
