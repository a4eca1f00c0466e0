export { parseSupervisorEnv, supervisorEnvSchema, type SupervisorEnv } from './config.ts';
export { runStack, type StackOptions } from './stack.ts';
export { createLineFormatter, resolveLogFormat, type LogFormat, type LogFormatSetting } from './log-output.ts';
export { RestartPolicy, type RestartPolicyOptions, type RestartDecision } from './restart-policy.ts';
