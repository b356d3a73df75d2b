// Jest resolves with the `require` condition; some packages (@kubernetes-models/*, age-encryption
// and their dependencies) export only `import`. Retry those with it. (At run time main.ts gets the same through
// `node --conditions=import`.)
module.exports = (request, options) => {
  try {
    return options.defaultResolver(request, options);
  } catch (error) {
    if (error && error.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED' && !/exports/.test(String(error.message))) throw error;
    return options.defaultResolver(request, { ...options, conditions: ['import', 'default'] });
  }
};
