console.log("scriptdash")
