export { parseSupervisorEnv, supervisorEnvSchema, SERVICE_NAMES, type ServiceName, type SupervisorEnv } from './config.ts';
export { runStack } from './stack.ts';
export { createLineFormatter, resolveLogFormat, type LogFormat, type LogFormatSetting } from './log-output.ts';
export { RestartPolicy, type RestartPolicyOptions, type RestartDecision } from './restart-policy.ts';
