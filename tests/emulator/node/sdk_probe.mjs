// The official Node SDK (@zohocrm/nodejs-sdk-8.0), unmodified, against the emulator's hosts.
// argv[2]: the SDK's folder; the emulator's settings come from the environment (see test_node_sdk.py).
// Prints one JSON line: what the SDK read.
import path from "node:path";
import { pathToFileURL } from "node:url";

const sdk = await import(pathToFileURL(path.join(process.argv[2], "lib", "index.js")).href);
const env = process.env;

const environment = new sdk.Environment(env.EMU_URL, env.EMU_TOKEN_URL, env.EMU_CONTENT_URL);
const token = new sdk.OAuthBuilder()
  .clientId(env.EMU_CLIENT_ID)
  .clientSecret(env.EMU_CLIENT_SECRET)
  .refreshToken(env.EMU_REFRESH_TOKEN)
  .redirectURL(env.EMU_REDIRECT_URL)
  .build();
// The builder's constructor is async: it answers a promise of itself.
await (await new sdk.InitializeBuilder())
  .environment(environment)
  .token(token)
  .store(new sdk.FileStore(path.join(env.EMU_WORK, "tokens.txt")))
  .SDKConfig(new sdk.SDKConfigBuilder().autoRefreshFields(false).pickListValidation(false).build())
  .resourcePath(env.EMU_WORK)
  .initialize();

const out = {};

const params = new sdk.ParameterMap();
await params.add(sdk.Record.GetRecordsParam.FIELDS, "Account_Name,Industry");
await params.add(sdk.Record.GetRecordsParam.PER_PAGE, 5);
const listed = await new sdk.Record.RecordOperations("Accounts").getRecords(params, new sdk.HeaderMap());
out.records_status = listed.getStatusCode();
const data = listed.getObject().getData();
out.records = data.map((r) => ({ id: String(r.getId()), name: r.getKeyValue("Account_Name") }));

const query = new sdk.BulkRead.Query();
const module = new sdk.Modules.MinifiedModule();
module.setAPIName("Accounts");
await query.setModule(module);
query.setFields(["Account_Name"]);
query.setPage(1);
const body = new sdk.BulkRead.BodyWrapper();
await body.setQuery(query);
const ops = new sdk.BulkRead.BulkReadOperations();
const created = await ops.createBulkReadJob(body);
out.bulk_create_status = created.getStatusCode();
const action = created.getObject().getData()[0];
const jobId = action.getDetails().get("id");
let state = null;
let result = null;
for (let i = 0; i < 100 && state !== "COMPLETED"; i++) {
  const details = await ops.getBulkReadJobDetails(BigInt(jobId));
  const job = details.getObject().getData()[0];
  state = job.getState().getValue();
  result = job.getResult();
  if (state !== "COMPLETED") await new Promise((ok) => setTimeout(ok, 100));
}
out.bulk_state = state;
out.bulk_count = result ? Number(result.getCount()) : null;
out.bulk_download_url = result ? result.getDownloadUrl() : null;
const file = await ops.downloadResult(BigInt(jobId));
out.bulk_download_status = file.getStatusCode();
console.log(JSON.stringify(out));
