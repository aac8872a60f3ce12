//! Host-side bindings generated from `wit/weft.wit` (world `component`).

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "weft:durable/component",
    imports: { default: async | trappable },
    exports: { default: async },
});
