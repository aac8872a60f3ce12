//! Host-side bindings of world `entity-host`: the `entities` export, which a
//! component may lack (then it serves no entity). Its types are the ones of
//! [`crate::bindings`], so one failure type serves every kind.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "weft:durable/entity-host",
    exports: { default: async },
    with: {
        "weft:durable/types": crate::bindings::weft::durable::types,
    },
});
