// The public surface of the mcp-bastion package: named exports only, each listed here on purpose (a test pins the list).
export { startGateway } from "./gateway.ts";
export type { Gateway, GatewayOptions } from "./gateway.ts";
export { loadConfigFile, loadConfigObject } from "./config/index.ts";
export type { Config, LoadedConfig, UpstreamConfig } from "./config/index.ts";
export { AuditLog, verifyAuditLog } from "./audit/index.ts";
export type { AuditEvent, AuditRecord, VerifyResult } from "./audit/index.ts";
export { BastionError, ConfigError, Refusal, REFUSALS } from "./errors/index.ts";
export type { RefusalCode } from "./errors/index.ts";
export { authInfoOf, DocumentStoreInput, GmailSendInput, refusalsAsErrors, REFUSAL_META_KEY, requireAuth, validateInput, WebSearchInput } from "./library/index.ts";
export type { AuthInfo, AuthRefusal, AuthRefusalData, DetectorSettings, DocumentStoreArgs, GmailSendArgs, InputRefusal, RefusalError, RequireAuthOptions, SendingTransport, ValidateInputOptions, WebSearchArgs } from "./library/index.ts";
