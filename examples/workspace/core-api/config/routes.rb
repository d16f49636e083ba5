require_relative "../app/controllers/health_controller"
require_relative "../app/controllers/accounts_controller"

module CoreApi
  module Routes
    def self.app
      lambda do |env|
        case env["PATH_INFO"]
        when "/healthz" then HealthController.new.show
        when %r{\A/accounts/(\d+)\z} then AccountsController.new.show(Regexp.last_match(1).to_i)
        else [404, {"content-type" => "text/plain"}, ["not found\n"]]
        end
      end
    end
  end
end
