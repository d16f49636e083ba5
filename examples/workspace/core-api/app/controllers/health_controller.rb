class HealthController
  def show
    [200, {"content-type" => "text/plain"}, ["ok\n"]]
  end
end
