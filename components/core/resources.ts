// Compute requests and limits, as Kubernetes' own type with both halves required.
import type * as k8s from "@pulumi/kubernetes";

/**
 * CPU and memory quantities, as the Kubernetes API spells them ("100m", "256Mi"). A type literal,
 * not an interface, so it fits Kubernetes' `{ [resource: string]: string }` maps.
 */
export type Quantities = { cpu: string; memory: string };

/**
 * Kubernetes' ResourceRequirements with requests and limits both set, so it can be handed to a
 * container or a chart's `resources` value as it is.
 */
export interface Resources
  extends k8s.types.input.core.v1.ResourceRequirements {
  requests: Quantities;
  limits: Quantities;
}
