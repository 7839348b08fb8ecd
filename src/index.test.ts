// The package's public surface is exactly what src/index.ts lists: adding or removing an export is a decision, not an accident.
import { expect, it } from "vitest";
import * as api from "./index.ts";

it("exports exactly the documented values", () => {
  expect(Object.keys(api).sort()).toEqual(["AuditLog", "BastionError", "ConfigError", "DocumentStoreInput", "GmailSendInput", "REFUSALS", "REFUSAL_META_KEY", "Refusal", "WebSearchInput", "authInfoOf", "loadConfigFile", "loadConfigObject", "refusalsAsErrors", "requireAuth", "startGateway", "validateInput", "verifyAuditLog"]);
});
