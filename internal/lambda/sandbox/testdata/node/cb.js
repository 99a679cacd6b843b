exports.handler = function (event, context, callback) {
  if (event.op === 'raise') {
    callback(new Error('callback boom'));
    return;
  }
  setTimeout(() => callback(null, { via: 'callback', data: event.data }), 1);
};
