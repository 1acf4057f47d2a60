#!/bin/sh
# dynamic-provider.sh, installed by build-pulumi.sh as bin/pulumi-resource-pulumi-nodejs next to
# the CLI. The Pulumi CLI's release archive ships a plugin of that name beside its Node.js
# language host; the engine starts it for every dynamic resource (pulumi.dynamic.Resource, type
# pulumi-nodejs:dynamic:Resource; here Linkerd's generated identity). The test bed builds the CLI
# from Go modules, which do not hold it, so without this an `up` with a dynamic resource fails
# with "no resource plugin 'pulumi-resource-pulumi-nodejs' found" where a user's install works.
# Like the released plugin, it runs the dynamic-provider host of the program's own @pulumi/pulumi,
# resolved from the directory the engine starts it in (the project root).
script=$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))") || {
  echo "pulumi-resource-pulumi-nodejs: no @pulumi/pulumi under $(pwd) (run npm ci in the project)" >&2
  exit 1
}
exec node "$script" "$@"
