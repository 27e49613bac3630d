// The official TypeScript SDK against a live hub: only server_url changes.
// Input (env): HUB_API_URL, API_KEY, INTEGRATION_ID, ORDER_IDS (comma-separated, oldest first).
// Output: one JSON line describing what the SDK saw; exit code 1 on any unexpected failure.
import { Kombo } from "@kombo-api/sdk";
import { KomboAtsError, KomboGeneralError } from "@kombo-api/sdk/models/errors";

const { HUB_API_URL, API_KEY, INTEGRATION_ID, ORDER_IDS } = process.env;
const orderIds = ORDER_IDS.split(",");
const kombo = new Kombo({ api_key: API_KEY, integration_id: INTEGRATION_ID, server_url: HUB_API_URL });
const out = {};

await kombo.assessment.setPackages({
  packages: [{ id: "ts-1", type: "SKILLS_TEST", name: "TypeScript", description: "45 minutes" }],
});
out.packages = (await kombo.assessment.getPackages()).data.packages.map((p) => [p.id, p.type, p.updated_at instanceof Date]);

out.pages = [];
for await (const page of await kombo.assessment.getAssessmentOrders({ page_size: 2, statuses: ["OPEN"] })) {
  out.pages.push(page.result.data.results.map((o) => o.id));
}
const since = await kombo.assessment.getAssessmentOrders({ created_after: new Date(Date.now() - 3600_000), ids: orderIds.slice(0, 2) });
out.filtered = since.result.data.results.map((o) => o.id);

const put = await kombo.assessment.updateOrderResult({
  assessment_order_id: orderIds[0],
  body: {
    status: "COMPLETED",
    result_url: "https://vendor.example/ts/1",
    completed_at: new Date("2024-01-02T03:04:05.678Z"),
    score: 42,
    max_score: 50,
    attributes: [
      { type: "TEXT", label: "Summary", value: "Good" },
      { type: "SUB_RESULT", id: "types", label: "Types", score: { value: 9, max: 10 }, status: "COMPLETED" },
    ],
    attachments: [{ name: "r.txt", content_type: "text/plain", data: Buffer.from("hello").toString("base64") }],
  },
});
out.put_warnings = put.warnings;

out.environment_id = (await kombo.general.checkApiKey()).data.environment_id;
out.integration_tool = (await kombo.general.getIntegrationDetails({ integration_id: INTEGRATION_ID })).data.tool.id;

try {
  await kombo.assessment.updateOrderResult({ assessment_order_id: orderIds[1], body: { status: "COMPLETED", result_url: "nope" } });
  out.invalid = "no error";
} catch (e) {
  out.invalid = e instanceof KomboAtsError ? e.error.code : `unexpected ${e?.constructor?.name}: ${e}`;
}
try {
  await new Kombo({ api_key: "ahk_wrong", server_url: HUB_API_URL }).general.checkApiKey();
  out.bad_key = "no error";
} catch (e) {
  out.bad_key = e instanceof KomboGeneralError ? e.error.code : `unexpected ${e?.constructor?.name}: ${e}`;
}
console.log(JSON.stringify(out));
