exports.handler = async (event, context) => {
  switch (event.op) {
    case 'raise': {
      const e = new TypeError('boom from node');
      throw e;
    }
    case 'sleep':
      await new Promise((r) => setTimeout(r, event.ms));
      return 'slept';
    case 'exit':
      process.exit(4);
    case 'print':
      console.log('x'.repeat(event.bytes));
      return 'printed';
    case 'context':
      return {
        functionName: context.functionName,
        awsRequestId: context.awsRequestId,
        invokedFunctionArn: context.invokedFunctionArn,
        memoryLimitInMB: context.memoryLimitInMB,
        remaining: context.getRemainingTimeInMillis(),
        region: process.env.AWS_REGION,
      };
    default:
      console.log('echo', event.op);
      return event.data;
  }
};
