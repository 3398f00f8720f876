/**
 * Turns off the AWS SDK's Node version notice for this process, through the SDK's documented
 * switch (`AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true`, read when a client is
 * created). The `rekey` executable imports this module first, so no client precedes it; the
 * caller's environment is left alone. rekey supports the Node versions of its `engines` field,
 * and its promise of one-line failures would not hold under a nine-line notice on stderr.
 */
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "true";

export {};
