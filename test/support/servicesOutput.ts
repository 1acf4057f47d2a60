// The stack output `services.orders` of the example, as index.ts writes it (checked by
// test/program/services.test.ts) and as the tools' tests feed it to them.
import type { DeclaredServiceOutput } from "../../components/core";

export const ORDERS_OUTPUT: DeclaredServiceOutput = {
  namespace: "shop",
  host: "orders.shop.svc.cluster.local",
  port: 8080,
  protocol: "http",
  weights: { v1: 90, v2: 10 },
  routeOnly: false,
  ingressPath: "/orders",
  metrics: {
    v1: { service: "orders", revision: "v1" },
    v2: { service: "orders", revision: "v2" },
  },
};
