// The library API (SPEC §5) for authors of MCP servers on the SDK: requireAuth, validateInput and ready input schemas.
export { authInfoOf, refusalsAsErrors, requireAuth, REFUSAL_META_KEY } from "./auth.ts";
export type { AuthInfo, AuthRefusal, AuthRefusalData, RefusalError, RequireAuthOptions, SendingTransport } from "./auth.ts";
export { validateInput } from "./validate.ts";
export type { DetectorSettings, InputRefusal, ValidateInputOptions } from "./validate.ts";
export { DocumentStoreInput, GmailSendInput, WebSearchInput } from "./schemas.ts";
export type { DocumentStoreArgs, GmailSendArgs, WebSearchArgs } from "./schemas.ts";
