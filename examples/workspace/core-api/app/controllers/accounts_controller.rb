require_relative "../models/account"

class AccountsController
  def show(id)
    account = Account.find(id)
    return [404, {"content-type" => "text/plain"}, ["no such account\n"]] unless account

    [200, {"content-type" => "application/json"}, [account.to_json]]
  end
end
