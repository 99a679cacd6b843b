// Greets whoever the execution's input names; GREETING comes from the CDK app's environment.
exports.handler = async (event) => {
  return { message: `${process.env.GREETING}, ${event.name || 'world'}!`, runtime: process.version };
};
