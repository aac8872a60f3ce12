"""Durable Functions' own Python client (azure-functions-durable) against Weft.

Run by tests/tests/df_python_client.rs with the client's binding pointed at a
running `weft serve` through `rpcBaseUrl`, the way a Functions app passes it.
Prints one JSON object with what the client saw; the Rust test checks it.
"""

import asyncio
import json
import sys

import azure.durable_functions as df


async def until(check, what):
    for _ in range(400):
        value = await check()
        if value is not None:
            return value
        await asyncio.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


async def main(rpc_base_url):
    binding = json.dumps({
        "taskHubName": "default",
        "creationUrls": {},
        "managementUrls": {},
        "rpcBaseUrl": rpc_base_url,
    })
    client = df.DurableOrchestrationClient(binding)
    seen = {}

    # Entities: signal twice, read the state back; a missing entity.
    counter = df.EntityId("Counter", "py")
    await client.signal_entity(counter, "add", 5)
    await client.signal_entity(counter, "add", 7)

    async def twelve():
        r = await client.read_entity_state(counter)
        return r.entity_state if r.entity_exists and r.entity_state == 12 else None

    seen["state"] = await until(twelve, "the counter to reach 12")
    missing = await client.read_entity_state(df.EntityId("Counter", "nobody"))
    seen["missing_exists"] = missing.entity_exists

    # Orchestrations: start, then the status until it completes.
    instance_id = await client.start_new("HelloSequence", None, None)

    async def done():
        s = await client.get_status(instance_id)
        return s if s.runtime_status == df.OrchestrationRuntimeStatus.Completed else None

    status = await until(done, "HelloSequence to complete")
    seen["output"] = status.output
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
