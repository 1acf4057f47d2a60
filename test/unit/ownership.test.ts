// components/core/ownership.ts: the transformation that makes every applied object force-applied.
import * as assert from "assert";
import type * as pulumi from "@pulumi/pulumi";
import {
  FORCE_APPLY_ANNOTATION,
  forceApply,
  isAppliedObject,
} from "../../components/core";

function transform(
  type: string,
  props: Record<string, unknown>,
): pulumi.ResourceTransformationResult | undefined {
  return forceApply({
    type,
    name: "x",
    props,
    opts: {},
    resource: {} as pulumi.Resource,
  });
}

describe("force-applied objects (core/ownership.ts)", () => {
  it("WHEN an object has annotations THEN force is added beside them, nothing else changes", () => {
    const res = transform("kubernetes:apps/v1:Deployment", {
      metadata: {
        name: "backend-v1",
        namespace: "mesh-demo",
        annotations: { "pulumi.com/skipAwait": "true" },
      },
      spec: { replicas: 1 },
    });
    assert.deepStrictEqual(res?.props, {
      metadata: {
        name: "backend-v1",
        namespace: "mesh-demo",
        annotations: {
          "pulumi.com/skipAwait": "true",
          [FORCE_APPLY_ANNOTATION]: "true",
        },
      },
      spec: { replicas: 1 },
    });
  });

  it("WHEN an Istio resource has no annotations THEN it gets just the force annotation", () => {
    const res = transform("kubernetes:networking.istio.io/v1:VirtualService", {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "backend", namespace: "mesh-demo" },
    });
    assert.deepStrictEqual(
      (res?.props.metadata as { annotations: unknown }).annotations,
      { [FORCE_APPLY_ANNOTATION]: "true" },
    );
  });

  it("WHEN the resource is a Helm release, the provider or a component THEN it is left alone", () => {
    for (const type of [
      "kubernetes:helm.sh/v3:Release",
      "pulumi:providers:kubernetes",
      "service-mesh:app:DemoApp",
    ]) {
      assert.strictEqual(
        transform(type, { metadata: { name: "x" } }),
        undefined,
        type,
      );
    }
    assert.strictEqual(isAppliedObject("kubernetes:core/v1:Namespace"), true);
    assert.strictEqual(isAppliedObject("kubernetes:helm.sh/v3:Release"), false);
  });
});
