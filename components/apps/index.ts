// apps: what runs in the mesh: the demo app and Istio's Bookinfo sample.
export * from "./bookinfo";
export * from "./bookinfoCallGraph";
export * from "./bookinfoWorkloads";
export * from "./demoApp";
export * from "./demoWorkloads";
export * from "./declaredServices";
