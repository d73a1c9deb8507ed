namespace Purser.Gateway.Webhooks;

internal static class HttpRequestErrorNames
{
    /// <summary>A short reason for a failed delivery, without the receiver's response text.</summary>
    public static string HttpRequestErrorName(this Exception ex) =>
        ex is HttpRequestException http ? http.HttpRequestError.ToString() : ex.GetType().Name;
}
